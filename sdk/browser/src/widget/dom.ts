/** DOM helpers of the widget: elements built with createElement and textContent only (never
 * HTML), avatars, reconciling lists in place, and formatting for display. */

export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** An element with `attrs` (`text` sets textContent, `className` the class; true: an empty
 * attribute; null, undefined and false: none) and `children` (null ones skipped). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  children?: readonly (Node | null | undefined | false)[],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (attrs) {
    for (const name of Object.keys(attrs)) {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "className") node.className = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children ?? []) {
    if (child) node.appendChild(child);
  }
  return node;
}

let uid = 0;
/** A page-unique id for aria links between the widget's own elements. */
export function nextId(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}

function sameOrder(parent: Element, nodes: readonly Element[]): boolean {
  let child = parent.firstElementChild;
  for (const node of nodes) {
    if (child !== node) return false;
    child = child.nextElementSibling;
  }
  return child === null;
}

/** Put `nodes` in `parent` in this order, moving as little as possible (keeps focus). */
export function reconcile(parent: Element, nodes: readonly Element[]): void {
  if (sameOrder(parent, nodes)) return;
  const keep = new Set<Element>(nodes);
  for (const child of Array.from(parent.children)) {
    if (!keep.has(child)) parent.removeChild(child);
  }
  nodes.forEach((node, i) => {
    const at = parent.children[i];
    if (at !== node) parent.insertBefore(node, at ?? null);
  });
}

export function safeColor(value: unknown): string {
  return typeof value === "string" && /^#[0-9a-f]{3,8}$/i.test(value) ? value : "#6e7781";
}

/** Black or white, whichever reads better on `hex`. */
export function textOn(hex: string): string {
  let h = hex.replace("#", "");
  if (h.length === 3 || h.length === 4) h = h[0]! + h[0]! + h[1]! + h[1]! + h[2]! + h[2]!;
  const channel = (at: number): number => parseInt(h.slice(at, at + 2), 16) / 255;
  const lin = (c: number): number => (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
  const luminance = 0.2126 * lin(channel(0)) + 0.7152 * lin(channel(2)) + 0.0722 * lin(channel(4));
  return luminance > 0.4 ? "#1f2328" : "#ffffff";
}

/** An http(s) URL (resolved against the page), or null: no javascript: or data: links. */
export function safeImageUrl(value: unknown): string | null {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, document.baseURI);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function initials(name: unknown): string {
  const words = String(name || "?")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (!words.length) return "?";
  const first = Array.from(words[0]!)[0] ?? "?";
  const last = words.length > 1 ? (Array.from(words[words.length - 1]!)[0] ?? "") : "";
  return (first + last).toUpperCase();
}

export function formatTime(iso: string | undefined): string {
  const date = new Date(iso ?? "");
  if (isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === new Date().toDateString();
  const options: Intl.DateTimeFormatOptions = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  try {
    return date.toLocaleString(undefined, options);
  } catch {
    return date.toISOString();
  }
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
  return bytes + " B";
}

/** Who an avatar shows. */
export interface Person {
  userId?: string | null;
  name?: string | null;
  avatar?: string | null;
  color?: string | null;
}

/** A round avatar: the user's picture (http(s) only), else initials on the user's color. */
export function avatar(user: Person | null, small: boolean): HTMLSpanElement {
  const color = safeColor(user?.color);
  const name = user?.name || user?.userId || "Someone";
  const node = el("span", { className: small ? "avatar small" : "avatar", "aria-hidden": "true" });
  node.style.setProperty("--c", color);
  node.style.setProperty("--fg", textOn(color));
  const src = safeImageUrl(user?.avatar);
  const text = initials(name);
  if (src) {
    const img = el("img", { alt: "", src, referrerpolicy: "no-referrer", loading: "lazy" });
    img.addEventListener("error", () => {
      img.remove();
      node.textContent = text;
    });
    node.appendChild(img);
  } else {
    node.textContent = text;
  }
  return node;
}
