package promote

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of the plan file, for
// editors (e.g. a yaml-language-server `# yaml-language-server: $schema=`
// comment) and for tools that generate plans. The caller must not modify the
// returned slice.
func Schema() []byte { return schemaJSON }
