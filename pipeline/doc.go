// Package pipeline runs a release: it picks each tool's base commit, asks
// package changes which tool projects changed and how, and then, for every
// changed tool and every stage of the promote plan in DAG order, ensures the
// tool exists, syncs its environment variables, runs the test gate,
// publishes (retrying 409s within a bounded budget and reconciling unknown
// outcomes so that one commit is never published twice in one stage),
// verifies that the published commit is the tested one, smoke-tests, soaks
// and prunes old versions beyond the stage's active cap.
//
// Run does the release; Run with Options.Mode set to ModePlan does the same
// analysis with read-only API calls only, and ModeOffline with no API call at
// all. Both return a typed *Report (tool × stage).
//
// The package talks to the Amigo API only through the API interface declared
// here (one value per stage, built by a ClientFactory), to the CI system only
// through Logger, and to time only through internal/clock, so the whole flow
// runs against the amigotest emulator in tests with simulated minutes taking
// milliseconds. It does not render reports (package report does) and knows
// nothing of GitHub or Azure DevOps.
package pipeline
