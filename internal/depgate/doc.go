// Package depgate holds the test that keeps the house's imports one way
// (ARCHITECTURE.md): the command line over the front ends, the front ends
// over the one decision point, the decision point over the ground
// (authz, toolmap, transport, revocation, internal/value), and no package of
// the ground speaking a protocol, logging or spawning processes.
package depgate
