module github.com/retrykit/retrykit/otelretry

go 1.26
