package amigotest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"time"
)

// scaffoldFiles is the tool scaffold the emulator serves: a minimal tool
// project that declares its contract the way the emulator reads it.
var scaffoldFiles = []struct{ name, body string }{
	{"amigo_tool_scaffold/README.md", `# Amigo tool scaffold (emulator copy)

A tool project is a directory with a pyproject.toml. Its contract lives in the
[tool.amigo] table: required_envvars, required_secret_envvars, input_schema.
`},
	{"amigo_tool_scaffold/pyproject.toml", `[project]
name = "example_tool"
version = "0.0.0"
requires-python = ">=3.11"

[tool.amigo]
required_envvars = []
required_secret_envvars = []
input_schema = { type = "object", required = ["query"], properties = { query = { type = "string" } } }
`},
	{"amigo_tool_scaffold/src/example_tool/__init__.py", ""},
	{"amigo_tool_scaffold/src/example_tool/main.py", `def handler(input_parameters: dict) -> str:
    """Entry point called by the Amigo runtime."""
    return str(input_parameters)
`},
}

// scaffoldArchive builds the scaffold tar.gz deterministically (fixed
// modification times), so its hash is stable.
func scaffoldArchive() []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gz.ModTime = time.Unix(1700000000, 0)
	tw := tar.NewWriter(gz)
	for _, f := range scaffoldFiles {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func (s *Server) handleScaffold(c *call) reply {
	h := http.Header{}
	h.Set("Content-Type", "application/gzip")
	h.Set("Content-Disposition", `attachment; filename="amigo_tool_scaffold.tar.gz"`)
	return reply{status: http.StatusOK, header: h, body: scaffoldArchive()}
}
