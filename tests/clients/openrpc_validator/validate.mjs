// Validate an OpenRPC document (JSON on stdin) with the official validator of the OpenRPC
// project, formats checked. Prints "valid" or the validator's errors; exit status 0 or 1.
import { validateOpenRPCDocument } from "@open-rpc/schema-utils-js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const document = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const result = validateOpenRPCDocument(document);
if (result === true) {
  console.log("valid");
} else {
  console.log(result.message);
  console.log(JSON.stringify(result.errors ?? [], null, 1));
  process.exit(1);
}
