// Package routing is Switchboard's domain logic for what happens to a
// customer's query: its states, and (with the routing engine) which query
// type it gets and who serves it. It is pure: it imports no web framework,
// queue, Redis client or channel, so every rule can be tested as a table of
// inputs and expected decisions.
package routing
