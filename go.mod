module github.com/corofpm/corofpm

go 1.26.0

require (
	github.com/alecthomas/chroma/v2 v2.27.0
	github.com/mattn/go-isatty v0.0.24
	github.com/stretchr/testify v1.12.1
	github.com/yuin/goldmark v1.8.7
	golang.org/x/sys v0.50.0
)

require (
	github.com/dlclark/regexp2/v2 v2.2.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
