// Node's ceiling for `make bench`: node:http alone answering fixed JSON bytes.
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({ options: { port: { type: "string" }, body: { type: "string" } } });
const body = Buffer.from(args.body);
createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    response.end(body);
  });
}).listen(Number(args.port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
