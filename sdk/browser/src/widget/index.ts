/** The widget's entry (the IIFE pulse.js): defines <pulse-widget> once, in a browser only. */

import { PulseWidget } from "./element.js";

declare global {
  interface Window {
    PulseWidget?: typeof PulseWidget;
  }
  interface HTMLElementTagNameMap {
    "pulse-widget": PulseWidget;
  }
}

if (typeof window !== "undefined" && window.customElements && !window.customElements.get("pulse-widget")) {
  window.customElements.define("pulse-widget", PulseWidget);
  window.PulseWidget = PulseWidget;
}

export { PulseWidget };
