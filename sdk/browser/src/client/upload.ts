// Attachment uploads: the presigned POST straight to the file store (XMLHttpRequest, for its progress).
import type { PulseError, UploadOptions } from "./types.js";

export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

function httpUrl(value: unknown): string | null {
  if (typeof value !== "string" || !value) return null;
  try {
    const base = typeof document !== "undefined" ? document.baseURI : undefined;
    const url = new URL(value, base);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/** The file store's refusal (S3 answers XML: <Error><Code/><Message/></Error>) as a sentence. */
export function storeRefusal(status: number, body: string): string {
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? "";
  return "The file store refused it" + (message ? ": " + message : " (HTTP " + status + ")") + ".";
}

/** POST `file` with the presigned fields (the file last, as S3 wants); resolves on a 2xx. */
export function postFile(upload: unknown, file: Blob, name: string, options: UploadOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (code: string, message: string): void => reject({ code, message } satisfies PulseError);
    const post = upload && typeof upload === "object" ? (upload as Partial<PresignedPost>) : {};
    const url = httpUrl(post.url);
    if (!url) {
      fail("UPLOAD_FAILED", "The server gave no place to upload to.");
      return;
    }
    if (typeof XMLHttpRequest !== "function") {
      fail("UPLOAD_FAILED", "Uploads need XMLHttpRequest (a browser).");
      return;
    }
    const form = new FormData();
    const fields = post.fields && typeof post.fields === "object" ? post.fields : {};
    for (const key of Object.keys(fields)) form.append(key, String(fields[key]));
    form.append("file", file, name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) options.onProgress?.({ loaded: e.loaded, total: e.total });
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else fail("UPLOAD_FAILED", storeRefusal(xhr.status, String(xhr.responseText || "")));
    });
    xhr.addEventListener("error", () => fail("UPLOAD_FAILED", "The upload could not reach the file store."));
    xhr.addEventListener("abort", () => fail("UPLOAD_ABORTED", "The upload was cancelled."));
    if (options.signal) {
      if (options.signal.aborted) {
        fail("UPLOAD_ABORTED", "The upload was cancelled.");
        return;
      }
      options.signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
}
