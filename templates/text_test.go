package templates_test

import (
	"errors"
	"strings"
	"testing"

	"switchboard/templates"
)

func TestRender(t *testing.T) {
	txt, err := templates.Parse("Estamos fora do horário. Respondemos a partir das {{next_open}}, {{ contact_name }}.")
	if err != nil {
		t.Fatal(err)
	}
	got, err := txt.Render(map[string]string{"next_open": "seg 09:00", "contact_name": "Ana"})
	if err != nil || got != "Estamos fora do horário. Respondemos a partir das seg 09:00, Ana." {
		t.Fatalf("Render = %q, %v", got, err)
	}
	if _, err := txt.Render(map[string]string{"contact_name": "Ana"}); !errors.Is(err, templates.ErrMissingVariable) || !strings.Contains(err.Error(), "next_open") {
		t.Fatalf("missing next_open: %v", err)
	}
	if vs := txt.Variables(); len(vs) != 2 || vs[0] != "next_open" || vs[1] != "contact_name" {
		t.Fatalf("Variables = %v", vs)
	}
}

func TestParseErrors(t *testing.T) {
	for text, want := range map[string]string{
		"Abrimos às {{next_opne}}": "unknown variable {{next_opne}}",
		"Olá {{contact_name":       "unclosed {{",
	} {
		if _, err := templates.Parse(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", text, err, want)
		}
	}
	if txt, err := templates.Parse("no variables {at all}"); err != nil || len(txt.Variables()) != 0 {
		t.Fatalf("plain text: %v", err)
	}
}

func TestPickLanguage(t *testing.T) {
	s := templates.NewSet("pt")
	for _, tc := range [][3]string{{"menu", "pt", "Escolha"}, {"menu", "es", "Elija"}, {"bye", "en", "Bye"}} {
		if err := s.Add(tc[0], tc[1], tc[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add("menu", "pt", "again"); err == nil {
		t.Fatal("duplicate language accepted")
	}
	render := func(id, lang string) string {
		txt := s.Pick(id, lang)
		if txt == nil {
			return "<nil>"
		}
		out, _ := txt.Render(nil)
		return out
	}
	for _, tc := range [][3]string{{"menu", "es", "Elija"}, {"menu", "fr", "Escolha"}, {"bye", "pt", "Bye"}, {"nope", "pt", "<nil>"}} {
		if got := render(tc[0], tc[1]); got != tc[2] {
			t.Errorf("Pick(%s, %s) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestHSM(t *testing.T) {
	h, err := templates.ParseHSM(templates.HSM{Name: "payment_reminder", Language: "es", Category: "utility",
		Body: "Hola {{1}}, tu pago de {{2}} vence mañana. {{1}}, ¿necesitas ayuda?"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Params != 2 || h.ProviderName != "payment_reminder" {
		t.Fatalf("parsed %+v", h)
	}
	out, err := h.Render([]string{"Ana", "$120"})
	if err != nil || out != "Hola Ana, tu pago de $120 vence mañana. Ana, ¿necesitas ayuda?" {
		t.Fatalf("Render = %q, %v", out, err)
	}
	if _, err := h.Render([]string{"Ana"}); !errors.Is(err, templates.ErrParamCount) {
		t.Fatalf("one parameter for two: %v", err)
	}
	for _, bad := range []templates.HSM{
		{Name: "x", Category: "promo", Body: "hi"},
		{Name: "x", Category: "utility", Body: "hi {{1}} and {{3}}"},
		{Name: "x", Category: "utility", Body: "hi {{name}}"},
		{Name: "x", Category: "utility", Body: ""},
	} {
		if _, err := templates.ParseHSM(bad); err == nil {
			t.Errorf("ParseHSM(%+v) accepted", bad)
		}
	}
}
