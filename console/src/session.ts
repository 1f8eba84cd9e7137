// Who is signed in: asked once from GET /auth/me; the cookie itself is never visible here.
import { useEffect, useState } from "preact/hooks";
import { api, hasSession, type User, whenSessionEnds } from "./api";

type State = { status: "loading" } | { status: "signed-out" } | { status: "signed-in"; user: User };
let state: State = { status: "loading" };
const listeners = new Set<(next: State) => void>();

function set(next: State): void {
  state = next;
  listeners.forEach((listener) => listener(next));
}

export async function refreshSession(): Promise<void> {
  if (!hasSession()) {
    set({ status: "signed-out" });
    return;
  }
  try {
    set({ status: "signed-in", user: await api.me() });
  } catch {
    set({ status: "signed-out" });
  }
}

export function signedIn(user: User): void {
  set({ status: "signed-in", user });
}

export function signedOut(): void {
  set({ status: "signed-out" });
}

whenSessionEnds(() => set({ status: "signed-out" }));

export function useSession(): State {
  const [current, setCurrent] = useState(state);
  useEffect(() => {
    listeners.add(setCurrent);
    setCurrent(state);
    return () => { listeners.delete(setCurrent); };
  }, []);
  return current;
}
