package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// An export longer than a sheet holds goes on in further sheets, each
// with its header; CSV has one header whatever the length.
func TestExportSplitsSheetsAtExcelsLimit(t *testing.T) {
	defer func(n int) { sheetRows = n }(sheetRows)
	sheetRows = 3 // a header and two rows a sheet
	open := time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)
	var xb, cb bytes.Buffer
	x, err := NewXLSX(&xb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCSV(&cb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r := &Row{ID: fmt.Sprintf("q-%d", i), OpenedAt: open, ClosedAt: open.Add(time.Minute), Channel: "wa-main", Reopened: i == 4}
		if err := x.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := c.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&xb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); fmt.Sprint(got) != "[Conversations Conversations 2 Conversations 3]" {
		t.Fatalf("sheets %v", got)
	}
	for i, want := range [][]string{{"q-0", "q-1"}, {"q-2", "q-3"}, {"q-4"}} {
		rows, err := f.GetRows(f.GetSheetList()[i])
		if err != nil || len(rows) != len(want)+1 || rows[0][0] != "id" {
			t.Fatalf("sheet %d: %q %v", i, rows, err)
		}
		for j, id := range want {
			if rows[j+1][0] != id || rows[j+1][1] != "2026-11-02 13:00:00" || rows[j+1][8] != "60" {
				t.Errorf("sheet %d row %d = %q", i, j, rows[j+1])
			}
		}
	}
	recs, err := csv.NewReader(&cb).ReadAll()
	if err != nil || len(recs) != 6 || recs[5][9] != "true" || recs[1][1] != "2026-11-02T13:00:00Z" {
		t.Fatalf("CSV %q %v", recs, err)
	}
}
