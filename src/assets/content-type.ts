/**
 * Content types by file extension: the common web subset of the IANA/`mime` table PartyKit's
 * asset server uses (for example `.ts` is video/mp2t there too). Kept as a local table so the
 * asset server has no dependency; an unknown extension has no type, which also matters for the
 * single-page-app rule in spa.ts.
 */
const TYPES: Readonly<Record<string, string>> = {
  // text and code
  html: "text/html",
  htm: "text/html",
  shtml: "text/html",
  css: "text/css",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "application/node",
  json: "application/json",
  map: "application/json",
  jsonld: "application/ld+json",
  webmanifest: "application/manifest+json",
  xml: "text/xml",
  xsl: "application/xml",
  txt: "text/plain",
  text: "text/plain",
  log: "text/plain",
  conf: "text/plain",
  ini: "text/plain",
  md: "text/markdown",
  markdown: "text/markdown",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  ics: "text/calendar",
  vtt: "text/vtt",
  yaml: "text/yaml",
  yml: "text/yaml",
  wasm: "application/wasm",
  ts: "video/mp2t",
  jsx: "text/jsx",
  coffee: "text/coffeescript",
  rtf: "text/rtf",
  // images
  png: "image/png",
  apng: "image/apng",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jpe: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  svg: "image/svg+xml",
  svgz: "image/svg+xml",
  ico: "image/vnd.microsoft.icon",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  heic: "image/heic",
  heif: "image/heif",
  jxl: "image/jxl",
  // fonts
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  eot: "application/vnd.ms-fontobject",
  // audio and video
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  aac: "audio/aac",
  oga: "audio/ogg",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  wav: "audio/wav",
  weba: "audio/webm",
  flac: "audio/x-flac",
  mid: "audio/midi",
  midi: "audio/midi",
  mp4: "video/mp4",
  m4v: "video/x-m4v",
  mpeg: "video/mpeg",
  mpg: "video/mpeg",
  ogv: "video/ogg",
  webm: "video/webm",
  mov: "video/quicktime",
  avi: "video/x-msvideo",
  // documents and archives
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
  "7z": "application/x-7z-compressed",
  epub: "application/epub+zip",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ppt: "application/vnd.ms-powerpoint",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  bin: "application/octet-stream",
  exe: "application/octet-stream",
  dll: "application/octet-stream",
  iso: "application/octet-stream",
  dmg: "application/octet-stream",
  glb: "model/gltf-binary",
  gltf: "model/gltf+json",
  obj: "model/obj",
  stl: "model/stl",
  usdz: "model/vnd.usdz+zip",
  atom: "application/atom+xml",
  rss: "application/rss+xml",
  sh: "application/x-sh",
  swf: "application/x-shockwave-flash",
};

/**
 * The MIME type of a path by its extension, or null when it has none we know. Like `mime`, a name
 * with no dot has no type (`/parties/main/room1`).
 */
export function mimeType(path: string): string | null {
  const last = path.slice(path.lastIndexOf("/") + 1).toLowerCase();
  const dot = last.lastIndexOf(".");
  if (dot === -1 || dot === last.length - 1) return null;
  return TYPES[last.slice(dot + 1)] ?? null;
}

/**
 * The Content-Type header for a file: text types get `charset=utf-8`, unknown ones octet-stream.
 * `partykit dev` serves assets with esbuild's dev server, which labels SVG and web manifests
 * without a charset; we do the same so headers match check for check.
 */
export function contentTypeFor(path: string): string {
  const type = mimeType(path);
  if (type === null) return "application/octet-stream";
  const textual =
    type.startsWith("text/") ||
    type === "application/json" ||
    type === "application/ld+json" ||
    type === "application/xml";
  return textual ? `${type}; charset=utf-8` : type;
}
