import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build goes into the Python package, which serves it at `/` (see src/tvms/console.py).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/tvms/console_dist",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  server: {
    // `npm run dev` against a local `tvms serve` (make run).
    proxy: { "/rpc": "http://127.0.0.1:8000", "/storage": "http://127.0.0.1:8000" },
  },
});
