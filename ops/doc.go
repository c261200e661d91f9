// Package ops holds the day-two operations on released tools: Status (what
// serves where, read-only) and Rollback (deprecate, in every stage, the
// versions newer than a target, then smoke what serves). The CLI commands
// `status` and `rollback` are thin wiring around them; report renders
// their results.
//
// Both read the same plan as a release and talk to each stage through the
// same paced amigo clients (pipeline.DefaultClients), so they never go
// faster than the documented limits, in CI or on a laptop.
//
// # Guarantees
//
//   - Status is read-only by construction: it is given a Reader, which has
//     no mutating method.
//   - Rollback checks everything before its first mutating call (all or
//     nothing): the target serves in every stage that has anything newer,
//     no version to deprecate is pinned (keep), every server answered.
//     Any refusal is a *Refusal (the CLI exits 2) naming the stage.
//   - It deprecates only with exact "==X.Y.Z" constraints, each stage's own
//     numbers found by commit (regions number versions independently), the
//     last stage first, so that a stage never serves something the stages
//     it needs do not.
//
// # Layering
//
// ops sits beside pipeline (it uses pipeline's clients, discovery mapping
// and TestResult), below cmd and report; it knows nothing of CI platforms.
package ops
