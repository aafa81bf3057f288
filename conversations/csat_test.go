package conversations_test

import (
	"testing"

	"switchboard/channels"
	"switchboard/conversations"
)

// What a customer may send that rates a survey, and what does not.
func TestCSATScoreReadsRatingsOnly(t *testing.T) {
	txt := func(s string) *channels.Inbound { return &channels.Inbound{Type: channels.TypeText, Text: s} }
	tap := func(kind, id, title string) *channels.Inbound {
		return &channels.Inbound{Type: channels.TypeInteractive, Reply: &channels.Reply{Kind: kind, ID: id, Title: title}}
	}
	tests := []struct {
		name string
		m    *channels.Inbound
		want int // 0: not a rating
	}{
		{"list row", tap("list_reply", "csat:4", "4 ★★★★"), 4},
		{"telegram callback", tap("callback_query", "csat:1", "csat:1"), 1},
		{"bare digit", txt(" 5\n"), 5},
		{"template button payload", tap("button", "csat:3", "Okay"), 3},
		{"template button title", tap("button", "Promo", "2 - Poor"), 2},
		{"zero", txt("0"), 0},
		{"six", txt("6"), 0},
		{"two digits", txt("10"), 0},
		{"digit in a sentence", txt("5 stars!"), 0},
		{"template button 10", tap("button", "10 - Great", "10 - Great"), 0},
		{"menu row", tap("list_reply", "sales", "1 Sales"), 0},
		{"other csat id", tap("list_reply", "csat:9", "9"), 0},
		{"image", &channels.Inbound{Type: channels.TypeImage, Text: "4"}, 0},
	}
	for _, tc := range tests {
		got, ok := conversations.CSATScore(tc.m)
		if got != tc.want || ok != (tc.want > 0) {
			t.Errorf("%s: CSATScore = %d, %v; want %d", tc.name, got, ok, tc.want)
		}
	}
}
