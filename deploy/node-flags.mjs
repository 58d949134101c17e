// The V8 flags every Hush process runs with: `npm start` (package.json, kept
// equal to this list by a unit test), `npm run cluster`, the tests' server and
// the benchmark.
//
// --max-semi-space-size=2 (MiB): V8's young generation starts at 1 MiB per
// semi-space and grows to 16 MiB while objects keep surviving, which they do
// while members join (each keeps its state); it does not shrink again while
// the server idles. For a relay that holds many idle members that is tens of
// MiB of RSS for nothing. Measured with the bench's idle phase (10,000 idle
// members): 5.6–5.9 KB each uncapped, 4.2 KB at 2 MiB, 3.9 KB at 1 MiB; at
// saturation 1 MiB cost about 8 % of deliveries/s (scavenges 16× as often),
// 2 MiB nothing we could tell from run-to-run noise. Most of what the relay
// allocates per frame dies within the frame, so a small young generation is
// scavenged often but cheaply (the bench's CPU rows are measured with it).
export const NODE_FLAGS = ['--max-semi-space-size=2'];
