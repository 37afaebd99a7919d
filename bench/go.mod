module github.com/retrykit/retrykit/bench

go 1.26
