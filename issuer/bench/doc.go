// Package bench is `issuer bench` without its flags: Run provisions a
// temporary database (SeedDirectory for a large directory, Provision for
// the tenant, daemon and API the requests use), starts the issuer binary's
// `serve` on it in a child process, so that its memory and start-up time
// are the server's own, and measures its cold start, peak RSS and, per
// concurrency level, client-credentials throughput and latency (Drive);
// or it drives a server someone else started (Options.URL). The raw RS256
// signing rate of the server's signer on one core (SignRate) is the figure
// the throughput is compared with.
//
// Timing loops are bounded in both time and count and stop by themselves.
// The command (cmd/issuer/bench.go) turns flags into Options and prints
// the Report.
package bench
