import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso/router';
import { NAV } from '../pages';
import { useSession } from '../session';
import { LivePanel } from './LivePanel';

/** The page frame: top bar with the navigation, the page, and the live panel beside it. */
export function Layout({ children }: { children: ComponentChildren }) {
  const { signOut } = useSession();
  const { path } = useLocation();
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/ui">
          webhook-gateway
        </a>
        <nav aria-label="Main">
          {NAV.map((page) => (
            <a key={page.href} href={page.href} aria-current={page.current(path) ? 'page' : undefined}>
              {page.label}
            </a>
          ))}
          <a href="/api/docs" class="external">
            API reference
          </a>
          <button type="button" class="link" onClick={() => signOut()}>
            Sign out
          </button>
        </nav>
      </header>
      <div class="layout">
        <main id="main" tabIndex={-1}>
          {children}
        </main>
        <LivePanel />
      </div>
    </>
  );
}
