// The site bundle as a page names it, fetched byte for byte: node's fetch would
// decode the body, and these checks need the encoded bytes the network carries.
import http from 'node:http';

/// The bundle URLs a page's HTML names: the JS module, the wasm, the stylesheet.
export function bundleUrls(html) {
  const find = (pattern, what) => {
    const match = html.match(pattern);
    if (!match) throw new Error(`the page names no ${what}:\n${html.slice(0, 2000)}`);
    return match[1];
  };
  return {
    js: find(/<link rel="modulepreload" href="([^"]+\.js)"/, 'JS module'),
    wasm: find(/<link rel="preload" href="([^"]+\.wasm)"/, 'wasm'),
    css: find(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+\.css)"/, 'stylesheet'),
  };
}

/// GET `url` with `Accept-Encoding: acceptEncoding`; the status, headers and raw body.
export function getRaw(url, acceptEncoding) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { 'Accept-Encoding': acceptEncoding } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
