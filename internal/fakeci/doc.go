// Package fakeci holds in-memory stand-ins for the CI hosts' REST APIs
// that the bot talks to, for tests: GitHub (issue comments and the pull
// requests of a commit, under GitHub Enterprise's /api/v3) and Azure DevOps
// (the location service and pull request threads).
//
// Each fake is an httptest.Server that the constructor closes through
// t.Cleanup. It checks the bearer token of every call, fails the test on
// any call it does not serve, and records the calls for assertions.
// Seeding methods set up what earlier runs or other people left behind;
// reading methods return copies, so they are safe while the server runs.
//
// It is a test helper: it is not meant for production code.
package fakeci
