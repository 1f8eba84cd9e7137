// Path routes under the console's base (/ui/): deep links and the back button work, the
// server answers the same page for every /ui/... path (chalicelib/console/routes.py).
import { useEffect, useState } from "preact/hooks";

const basePath = new URL(document.baseURI).pathname.replace(/\/?$/, "/");
const listeners = new Set<() => void>();

export interface Location { path: string; query: URLSearchParams }

function current(): Location {
  let path = window.location.pathname;
  path = path.startsWith(basePath) ? path.slice(basePath.length) : path.replace(/^\/+/, "");
  return { path: "/" + path.replace(/\/+$/, ""), query: new URLSearchParams(window.location.search) };
}

export function href(to: string): string {
  return basePath + to.replace(/^\/+/, "");
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = href(to);
  if (options.replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.scrollTo(0, 0);
  listeners.forEach((listener) => listener());
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => { listeners.delete(update); window.removeEventListener("popstate", update); };
  }, []);
  return location;
}

/** "/projects/:id" against "/projects/abc" -> {id: "abc"}; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const have = path.split("/");
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      if (!have[i]) return null;
      params[want[i].slice(1)] = decodeURIComponent(have[i]);
    } else if (want[i] !== have[i]) return null;
  }
  return params;
}

/** A click on a same-origin link moves the router instead of reloading the page. */
export function followLink(event: MouseEvent, to: string): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(to);
}
