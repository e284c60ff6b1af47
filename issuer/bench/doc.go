// Package bench is the library half of `issuer bench`: it provisions the
// directory a load run needs (SeedDirectory for a large directory,
// Provision for the tenant, daemon and API the requests use), drives
// client-credentials requests at a concurrency level for a fixed time
// (Drive), and measures the raw RS256 signing rate of a signer backend on
// one core (SignRate), the figure the token throughput is compared with.
//
// Timing loops are bounded in both time and count and stop by themselves.
// The command (cmd/issuer/bench.go) starts the server in a child process,
// so that its memory and start-up time are the server's own.
package bench
