package changes_test

import (
	"fmt"

	"github.com/amigo-release/amigo-release/changes"
)

func ExampleParseMessage() {
	m := changes.ParseMessage("feat(api)!: drop the v0 inputs\n\nThey were deprecated in 2.3.\n\nRefs #42\nSigned-off-by: Ann <ann@example.com>\n")
	fmt.Println(m.Type, m.Scope, m.Breaking, m.Description)
	for _, f := range m.Footers {
		fmt.Printf("%s = %s\n", f.Token, f.Value)
	}
	fmt.Println(changes.DefaultOptions().Rules().BumpOf(m))
	// Output:
	// feat api true drop the v0 inputs
	// Refs = 42
	// Signed-off-by = Ann <ann@example.com>
	// major
}

func ExampleNormalizeName() {
	name, err := changes.NormalizeName("Weather-Tool.v2")
	fmt.Println(name, err)
	// Output: weather_tool_v2 <nil>
}
