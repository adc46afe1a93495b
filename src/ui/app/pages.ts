/**
 * The pages in the navigation, in order. Only pages that exist are listed: a new page (Sources,
 * Destinations, Requests, Alerts, Audit, Tokens…) adds its entry here, its <Route> in app.tsx and
 * its path in src/ui/routes.ts.
 */
export const NAV: { label: string; href: string; current(path: string): boolean }[] = [
  { label: 'Dashboard', href: '/ui', current: (path) => path === '/ui' },
  { label: 'Events', href: '/ui/events', current: (path) => path.startsWith('/ui/events') },
  { label: 'Sources', href: '/ui/sources', current: (path) => path.startsWith('/ui/sources') },
  { label: 'Destinations', href: '/ui/destinations', current: (path) => path.startsWith('/ui/destinations') },
  { label: 'Audit', href: '/ui/audit', current: (path) => path.startsWith('/ui/audit') },
  { label: 'Tokens', href: '/ui/tokens', current: (path) => path.startsWith('/ui/tokens') },
  { label: 'Rejected requests', href: '/ui/requests', current: (path) => path.startsWith('/ui/requests') },
  { label: 'Alerts', href: '/ui/alerts', current: (path) => path.startsWith('/ui/alerts') },
];
