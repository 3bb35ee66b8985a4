/** The widget's header: who is here (one avatar per user, "+N" past five) and how many. */

import type { Member } from "../client/types.js";
import { avatar, el, reconcile } from "./dom.js";

const MAX_AVATARS = 5;

interface Person extends Member {
  isSelf: boolean;
  connections: number;
}

interface AvatarItem {
  li: HTMLLIElement;
  look: string;
  label: HTMLSpanElement;
}

/** Renders the avatars list; keeps each user's item (and its image) while they look the same. */
export class PresenceView {
  private items = new Map<string, AvatarItem>();

  constructor(
    private readonly list: HTMLUListElement,
    private readonly here: HTMLSpanElement,
  ) {}

  /** Returns how many others are here (users' other tabs counted). */
  render(self: Member | null, others: readonly Member[]): number {
    // One avatar per user: a user's other tabs are one person here.
    const people: Person[] = [];
    const seen = new Map<string, Person>();
    if (self) {
      const mine: Person = { ...self, isSelf: true, connections: 1 };
      people.push(mine);
      seen.set(self.userId, mine);
    }
    for (const m of others) {
      const known = seen.get(m.userId);
      if (known) {
        known.connections += 1;
        if (!known.isSelf && m.presence) known.presence = m.presence;
        continue;
      }
      const person: Person = { ...m, isSelf: false, connections: 1 };
      people.push(person);
      seen.set(m.userId, person);
    }
    const shown = people.slice(0, people.length > MAX_AVATARS ? MAX_AVATARS - 1 : MAX_AVATARS);
    const items = new Map<string, AvatarItem>();
    const nodes: HTMLLIElement[] = shown.map((p, i) => {
      const label = (p.name || p.userId || "Someone") + (p.isSelf ? " (you)" : "");
      const look = JSON.stringify([p.name, p.userId, p.avatar, p.color]);
      let item = this.items.get(p.userId);
      if (!item || item.look !== look) {
        const li = el("li");
        li.appendChild(avatar(p, false));
        item = { li, look, label: li.appendChild(el("span", { className: "sr-only" })) };
      }
      items.set(p.userId, item);
      const { li } = item;
      li.style.zIndex = String(shown.length + 1 - i); // the first (you) on top
      li.title = label;
      item.label.textContent = label;
      li.setAttribute("data-user-id", p.userId || "");
      li.setAttribute("data-connection-id", p.connectionId || "");
      if (p.isSelf) li.setAttribute("data-self", "true");
      else li.removeAttribute("data-self");
      if (p.presence) li.setAttribute("data-presence", JSON.stringify(p.presence));
      else li.removeAttribute("data-presence");
      return li;
    });
    this.items = items;
    const rest = people.slice(shown.length);
    if (rest.length) {
      const names = rest.map((p) => p.name || p.userId).join(", ");
      nodes.push(
        el("li", { title: names }, [
          el("span", { className: "avatar more", "aria-hidden": "true", text: "+" + rest.length }),
          el("span", { className: "sr-only", text: "and " + rest.length + " more: " + names }),
        ]),
      );
    }
    reconcile(this.list, nodes);
    const count = people.length;
    this.here.textContent = self ? (count === 1 ? "Only you" : count + " here") : "";
    return Math.max(0, count - (self ? 1 : 0));
  }
}
