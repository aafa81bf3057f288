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

// TypeHoursDoc gives query types their own opening hours, in UTC: claims
// opens 08:00-11:00 every day (closed at noon) with its own reply,
// payments runs 24/7, and general keeps the global 08:00-20:00 (open at
// noon). All are claim pools, found by keyword: "reclamar", "pagar".
const TypeHoursDoc = `
timezone: UTC
opening_hours:
  weekly: {mon: ["08:00-20:00"], tue: ["08:00-20:00"], wed: ["08:00-20:00"], thu: ["08:00-20:00"], fri: ["08:00-20:00"], sat: ["08:00-20:00"], sun: ["08:00-20:00"]}
  out_of_hours: {reply: closed, queue_until_open: true}
default_query_type: general
query_types:
  - id: claims
    name: Claims
    keywords: [reclamar]
    opening_hours:
      weekly: {mon: ["08:00-11:00"], tue: ["08:00-11:00"], wed: ["08:00-11:00"], thu: ["08:00-11:00"], fri: ["08:00-11:00"], sat: ["08:00-11:00"], sun: ["08:00-11:00"]}
      out_of_hours: {reply: claims_closed}
  - id: payments
    name: Payments
    keywords: [pagar]
    opening_hours:
      weekly: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
  - id: general
templates:
  - {id: closed, language: en, text: "We are closed. We open at {{next_open}}."}
  - {id: claims_closed, language: en, text: "{{query_type}} is closed. It opens at {{next_open}}."}
`
