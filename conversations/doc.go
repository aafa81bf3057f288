// Package conversations owns a conversation's life: applying inbound
// messages and delivery reports, routing decisions, claims, replies under
// the 24-hour rule, templates, transfers, returns, closes, bulk derivation
// and presence. api/ and worker/ both call it, so each rule is written
// once. It stores through a Repository, announces through a Publisher and
// schedules work through a Scheduler, all small interfaces defined here
// and given to New, so tests can wrap the real ones to inject faults.
package conversations
