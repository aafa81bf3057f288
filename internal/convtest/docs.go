package convtest

// Settings documents the routing tests of worker/ and conversations/ share.

// RoutingDoc routes sales round robin over whoever serves it: the
// accounts Env.ApplyRouting creates (ana, bruno and carla).
const RoutingDoc = `
default_query_type: sales
query_types:
  - id: sales
    keywords: [comprar]
    strategy: round_robin
`

// OutOfHoursDoc opens one minute a day at 00:00 UTC: closed at noon.
const OutOfHoursDoc = `
timezone: UTC
opening_hours:
  weekly: {mon: ["00:00-00:01"], tue: ["00:00-00:01"], wed: ["00:00-00:01"], thu: ["00:00-00:01"], fri: ["00:00-00:01"], sat: ["00:00-00:01"], sun: ["00:00-00:01"]}
  out_of_hours: {reply: closed, queue_until_open: true}
default_query_type: sales
query_types:
  - {id: sales, strategy: claim}
templates:
  - {id: closed, language: en, text: "We are closed. We open at {{next_open}}."}
`
