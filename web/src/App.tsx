import { useEffect, useSyncExternalStore } from "react";
import { clearSession, client, isOffline, type LoginUser, retryAll, subscribe, takeReturnPath } from "./api";
import { useCall } from "./hooks";
import { Account } from "./pages/Account";
import { Audit } from "./pages/Audit";
import { Dashboard } from "./pages/Dashboard";
import { EventDetail, Events } from "./pages/Events";
import { Health } from "./pages/Health";
import { Locations } from "./pages/Locations";
import { Login } from "./pages/Login";
import { MapPage } from "./pages/MapPage";
import { Reports } from "./pages/Reports";
import { SensorDetail, SensorForm, SensorList } from "./pages/Sensors";
import { Settings } from "./pages/Settings";
import { Users } from "./pages/Users";
import { Link, navigate, usePath, useSearch } from "./router";
import { Page, useSession } from "./ui";

interface NavItem {
  href: string;
  text: string;
  admin?: boolean;
  operator?: boolean;
}

const MENU: { title?: string; items: NavItem[] }[] = [
  { items: [{ href: "/", text: "Dashboard" }] },
  {
    title: "Sensor Management",
    items: [
      { href: "/sensors?type=EDGE_CONTROLLER", text: "Gateways" },
      { href: "/sensors?type=CAMERA", text: "Cameras" },
      { href: "/sensors?type=NVR", text: "NVRs" },
      { href: "/sensors", text: "Field Devices" },
      { href: "/sensors/new", text: "Register device", operator: true },
      { href: "/health", text: "Health Monitor" },
    ],
  },
  {
    title: "Operations",
    items: [
      { href: "/map", text: "Map" },
      { href: "/locations", text: "Locations" },
      { href: "/events", text: "Events" },
      { href: "/reports", text: "Reports" },
    ],
  },
  {
    title: "Administration",
    items: [
      { href: "/users", text: "Users", admin: true },
      { href: "/settings", text: "Settings" },
      { href: "/audit", text: "Audit log", admin: true },
    ],
  },
];

function route(path: string) {
  const parts = path.split("/").filter(Boolean);
  const [first, second, third] = parts;
  switch (first) {
    case undefined:
      return <Dashboard />;
    case "sensors":
      if (second === "new") return <SensorForm />;
      if (second && third === "edit") return <SensorForm id={second} />;
      if (second) return <SensorDetail id={second} />;
      return <SensorList />;
    case "map":
      return <MapPage />;
    case "locations":
      return <Locations />;
    case "events":
      return second ? <EventDetail id={second} /> : <Events />;
    case "reports":
      return <Reports />;
    case "users":
      return <Users />;
    case "settings":
      return <Settings />;
    case "audit":
      return <Audit />;
    case "health":
      return <Health />;
    case "account":
      return <Account />;
    default:
      return (
        <Page title="Not found">
          <p>
            No page at {path}. <Link href="/">Back to the dashboard</Link>
          </p>
        </Page>
      );
  }
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, true), [to]);
  return null;
}

// A menu item is current when its path matches and its `?type=` (or the lack of one) matches too.
function isCurrent(href: string, path: string, type: string): boolean {
  const [itemPath, query = ""] = href.split("?");
  return itemPath === path && (new URLSearchParams(query).get("type") ?? "") === type;
}

export function App() {
  const path = usePath();
  const user = useSession();
  const offline = useSyncExternalStore(subscribe, isOffline);
  if (!user) return <Login />;
  if (path === "/login") return <Redirect to={takeReturnPath()} />;
  return <Shell path={path} user={user} offline={offline} />;
}

/** The signed-in frame. `auth.me` checks the session with every page's first batch: a revoked or
 * expired token leads back to sign-in, then to the same page. */
function Shell({ path, user, offline }: { path: string; user: LoginUser; offline: boolean }) {
  useCall("auth.me", undefined, { staleTime: 60_000, refetchInterval: 300_000 });
  const type = useSearch().get("type") ?? "";
  // The request revoking the token leaves now, carrying it; this browser forgets the session at
  // once, not when the answer comes: leaving the page right after cannot keep it signed in.
  const signOut = () => {
    client.send({ jsonrpc: "2.0", method: "auth.logout", params: {}, id: 0 }).catch(() => undefined);
    clearSession(false);
  };
  const visible = (item: NavItem) =>
    (!item.admin || user.role === "ADMIN") && (!item.operator || user.role !== "VIEWER");
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">TVMS</div>
        {MENU.map((group) => (
          <div key={group.title ?? "top"}>
            {group.title ? <div className="group">{group.title}</div> : null}
            <ul>
              {group.items.filter(visible).map((item) => (
                <li key={item.href}>
                  <Link href={item.href} aria-current={isCurrent(item.href, path, type) ? "page" : undefined}>
                    {item.text}
                  </Link>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </nav>
      <div className="content">
        <header className="topbar">
          <span>
            Signed in as{" "}
            <Link href="/account">
              {user.firstName} {user.lastName}
            </Link>{" "}
            ({user.role})
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </header>
        {offline ? (
          <div className="banner" role="alert">
            The TVMS service cannot be reached.{" "}
            <button type="button" onClick={() => void retryAll()}>
              Retry
            </button>
          </div>
        ) : null}
        <main id="main" tabIndex={-1}>
          {route(path)}
        </main>
      </div>
    </div>
  );
}
