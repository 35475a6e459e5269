// `npm start`: builds the images if needed (first run: Debian packages and kernels, about 12 minutes), then serves the app.
import { createServer } from "vite";
import { buildImages } from "../images/build.ts";

try {
  // UMLAB_SKIP_IMAGES=1: images/out was built elsewhere (e.g. in a Debian container on macOS).
  if (process.env.UMLAB_SKIP_IMAGES !== "1") await buildImages();
} catch (err) {
  console.error(`\nnpm start: the image build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const server = await createServer();
await server.listen();
server.printUrls();
console.log("  umlab is running. Open the URL above; Ctrl-C stops the server.");
