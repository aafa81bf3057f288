// state.js holds what every screen may read: who is signed in, what they
// may do, the team's settings for staff, and the screen registry.

/** session is the signed-in user, their permissions and the team. */
export const session = { user: null, permissions: new Set(), team: null, presenceControl: null };

/** screens maps a route name to its screen. */
export const screens = new Map();

/**
 * register adds a screen: {name, title (a string key), permission (one, or
 * a list of which any suffices, or none), nav (listed in the menu), admin
 * (listed under Administration), render(main, args) returning a cleanup}.
 */
export function register(screen) {
  screens.set(screen.name, screen);
}

/** typeName names a query type as the team's settings do (its id if unnamed). */
export function typeName(id) {
  const qt = ((session.team && session.team.query_types) || []).find((q) => q.id === id);
  return (qt && qt.name) || id || '';
}
