// Package conventions has no code: its tests hold packages to the
// conventions CONTRIBUTING.md writes down, so that a convention is checked
// where it is stated rather than remembered.
package conventions
