// The one API client of the console (the generated clients/typescript), the session and the
// query cache. Calls made in one tick share one POST /rpc batch (the client coalesces them).
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import {
  type LoginUser,
  NetworkError,
  RpcError,
  TvmsClient,
  UnauthorizedError,
} from "../../clients/typescript/client";
import { currentPath, navigate } from "./router";

export * from "../../clients/typescript/client";

const TOKEN_KEY = "tvms.token";
const USER_KEY = "tvms.user";
const RETURN_KEY = "tvms.returnTo";

/** The API base: same origin by default; `VITE_TVMS_API` when the console is hosted elsewhere. */
const apiBase = (import.meta as { env?: Record<string, string | undefined> }).env?.VITE_TVMS_API;
export const client = new TvmsClient(apiBase ?? window.location.origin);
client.token = localStorage.getItem(TOKEN_KEY) ?? undefined;

export type Role = LoginUser["role"];

type Listener = () => void;
const listeners = new Set<Listener>();
let user: LoginUser | null = readUser();
let offline = false;

function readUser(): LoginUser | null {
  if (!client.token) return null;
  try {
    return JSON.parse(localStorage.getItem(USER_KEY) ?? "null") as LoginUser | null;
  } catch {
    return null;
  }
}

function emit(): void {
  for (const listener of listeners) listener();
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function sessionUser(): LoginUser | null {
  return user;
}

export function isOffline(): boolean {
  return offline;
}

export function setSession(token: string, signedIn: LoginUser): void {
  client.token = token;
  user = signedIn;
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(USER_KEY, JSON.stringify(signedIn));
  emit();
}

/** Forget the session; `keepPage` remembers where the user was, to return there after sign-in. */
export function clearSession(keepPage: boolean): void {
  client.token = undefined;
  user = null;
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
  if (keepPage) sessionStorage.setItem(RETURN_KEY, currentPath());
  queryClient.clear();
  emit();
  navigate("/login");
}

/** On a signed-out visit to a page: remember it, and show the sign-in page at /login. */
export function rememberPage(): void {
  if (window.location.pathname !== "/login") {
    sessionStorage.setItem(RETURN_KEY, currentPath());
    navigate("/login", true);
  }
}

export function takeReturnPath(): string {
  const path = sessionStorage.getItem(RETURN_KEY);
  sessionStorage.removeItem(RETURN_KEY);
  return path?.startsWith("/") && !path.startsWith("/login") ? path : "/";
}

function onError(error: unknown): void {
  if (error instanceof UnauthorizedError && client.token) {
    clearSession(true);
  } else if (error instanceof NetworkError && !offline) {
    offline = true;
    emit();
  }
}

function onSuccess(): void {
  if (offline) {
    offline = false;
    emit();
  }
}

export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError, onSuccess }),
  mutationCache: new MutationCache({ onError, onSuccess }),
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // Server answers are final; only a lost connection is worth retrying.
      retry: (count, error) => error instanceof NetworkError && count < 2,
    },
  },
});

/** Retry everything after a lost connection (the banner's button). */
export async function retryAll(): Promise<void> {
  offline = false;
  emit();
  await queryClient.refetchQueries({ type: "active" });
}

/** The message to show for any failure: the server's own words when there are some. */
export function errorText(error: unknown): string {
  if (error instanceof RpcError) {
    const untold = error.issues.filter((issue) => !error.message.includes(issue.message));
    const issues = untold.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
    return issues ? `${error.message} (${issues})` : error.message;
  }
  if (error instanceof NetworkError) return "Cannot reach the TVMS service. Check the connection and retry.";
  if (error instanceof Error) return error.message;
  return String(error);
}
