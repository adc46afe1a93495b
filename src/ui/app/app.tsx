import { LocationProvider, Route, Router } from 'preact-iso/router';
import { Layout } from './components/Layout';
import { LiveProvider } from './hooks/live';
import { StatsProvider } from './hooks/stats';
import { AuditPage } from './pages/audit/AuditPage';
import { Dashboard } from './pages/Dashboard';
import { EventPage } from './pages/event/EventPage';
import { EventsPage } from './pages/events/EventsPage';
import { NotFound } from './pages/NotFound';
import { AlertsPage } from './pages/AlertsPage';
import { RequestsPage } from './pages/RequestsPage';
import { SignIn } from './pages/SignIn';
import { SourcesPage } from './pages/sources/SourcesPage';
import { TokensPage } from './pages/tokens/TokensPage';
import { DestinationsPage } from './pages/destinations/DestinationsPage';
import { RulePage } from './pages/destinations/rules/RulePage';
import { SessionProvider, useSession } from './session';

/** The whole UI: sign-in until a token is accepted, then the pages inside the layout. */
export function App() {
  return (
    <SessionProvider>
      <Root />
    </SessionProvider>
  );
}

function Root() {
  const { api } = useSession();
  if (!api) return <SignIn />;
  return (
    // scope: only links under /ui are routed in the page; /api/docs and the rest load normally.
    <LocationProvider scope="/ui">
      <LiveProvider>
        <StatsProvider>
          <Layout>
            <Router onRouteChange={focusHeading}>
              <Route path="/ui" component={Dashboard} />
              <Route path="/ui/events" component={EventsPage} />
              <Route path="/ui/events/:id" component={EventPage} />
              <Route path="/ui/sources" component={SourcesPage} />
              <Route path="/ui/audit" component={AuditPage} />
              <Route path="/ui/tokens" component={TokensPage} />
              <Route path="/ui/requests" component={RequestsPage} />
              <Route path="/ui/alerts" component={AlertsPage} />
              <Route path="/ui/destinations" component={DestinationsPage} />
              <Route path="/ui/destinations/:name" component={RulePage} />
              <Route default component={NotFound} />
            </Router>
          </Layout>
        </StatsProvider>
      </LiveProvider>
    </LocationProvider>
  );
}

/** After a navigation the new page's heading gets the focus, so screen readers announce it. */
function focusHeading() {
  requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus());
}
