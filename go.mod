module github.com/retrykit/retrykit

go 1.26
