module github.com/retrykit/retrykit/examples/tracing

go 1.26
