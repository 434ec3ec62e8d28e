/**
 * The page: one HTML shell (no inline script or style, for the CSP) and the front end, bundled by
 * esbuild at build time into the strings below (see scripts/bundle-client.ts).
 */
import { script, style } from 'virtual:studio-client';

export const SCRIPT: string = script;
export const STYLE: string = style;

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sessions Studio</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<noscript>Sessions Studio needs JavaScript.</noscript>
</body>
</html>
`;
