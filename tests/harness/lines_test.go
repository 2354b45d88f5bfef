package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		in   string
		want protoLine
	}{
		{"CLIENT MESSAGE hello", protoLine{Kind: lineClient, Text: "hello"}},
		{"CLIENT MESSAGE what's up?", protoLine{Kind: lineClient, Text: "what's up?"}},
		{"CLIENT MESSAGE  two  spaces ", protoLine{Kind: lineClient, Text: " two  spaces "}},
		{"CLIENT MESSAGE crlf\r", protoLine{Kind: lineClient, Text: "crlf"}},
		{"CLIENT MESSAGE", protoLine{Kind: lineClient}},
		{"RUMOR origin E from 127.0.0.1:5003 ID 1 contents hello", protoLine{Kind: lineRumor, Origin: "E", From: "127.0.0.1:5003", ID: 1, Text: "hello"}},
		{"RUMOR origin E from 127.0.0.1:5003 ID 12 contents isn't it? 'quoted' ?", protoLine{Kind: lineRumor, Origin: "E", From: "127.0.0.1:5003", ID: 12, Text: "isn't it? 'quoted' ?"}},
		// The text repeats the separators; the first ones must still win.
		{"RUMOR origin N07 from 127.0.0.1:40001 ID 3 contents x from y ID 9 contents z", protoLine{Kind: lineRumor, Origin: "N07", From: "127.0.0.1:40001", ID: 3, Text: "x from y ID 9 contents z"}},
		{"RUMOR origin E from 127.0.0.1:5003 ID 2 contents ", protoLine{Kind: lineRumor, Origin: "E", From: "127.0.0.1:5003", ID: 2}},
		{"RUMOR origin E from 127.0.0.1:5003 ID 2 contents", protoLine{Kind: lineRumor, Origin: "E", From: "127.0.0.1:5003", ID: 2}},
		{"RUMOR origin E from 127.0.0.1:5003 ID x contents hi", protoLine{}},
		{"RUMOR origin E from 127.0.0.1:5003 contents hi", protoLine{}},
		{"RUMOR origin  from 127.0.0.1:5003 ID 1 contents hi", protoLine{}},
		{"SIMPLE MESSAGE origin E from 127.0.0.1:5003 contents hi", protoLine{}},
		{"STATUS from 127.0.0.1:5003 peer E nextID 2", protoLine{}},
		{"MONGERING with 127.0.0.1:5003", protoLine{}},
		{"client message hi", protoLine{}},
		{"", protoLine{}},
	}
	for _, c := range cases {
		if got := parseLine(c.in); got != c.want {
			t.Errorf("parseLine(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestKeys(t *testing.T) {
	if parseLine("CLIENT MESSAGE a?b'c").key() != clientKey("a?b'c") {
		t.Error("client key")
	}
	if parseLine("RUMOR origin E from 1.2.3.4:5 ID 1 contents a?b'c").key() != rumorKey("E", "a?b'c") {
		t.Error("rumor key")
	}
	// A rumor of the same text from another origin is not the same message.
	if rumorKey("E", "x") == rumorKey("F", "x") || clientKey("x") == rumorKey("E", "x") {
		t.Error("keys collide")
	}
	if parseLine("IN SYNC WITH 1.2.3.4:5").key() != "" {
		t.Error("other lines must have no key")
	}
}

func TestNodeOutRecord(t *testing.T) {
	var o nodeOut
	o.setWant([]string{rumorKey("E", "m1"), rumorKey("E", "m2")}, nil)
	t1 := time.Unix(100, 0)
	t2 := time.Unix(101, 0)
	if o.record("RUMOR origin E from 127.0.0.1:1 ID 1 contents m1", t1) != true {
		t.Error("first proof not reported")
	}
	if o.record("RUMOR origin E from 127.0.0.1:2 ID 1 contents m1", t2) {
		t.Error("duplicate reported as new")
	}
	o.record("RUMOR origin F from 127.0.0.1:2 ID 1 contents m2", t2) // wrong origin
	o.record("STATUS from 127.0.0.1:2 peer E nextID 2", t2)
	found, total, last, lines := o.progress()
	if found != 1 || total != 2 || !last.Equal(t1) || lines != 4 {
		t.Errorf("found %d/%d last %v lines %d", found, total, last, lines)
	}
}

func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes+10)
	in := "CLIENT MESSAGE a\r\n" + long + "\nsecond\n\nlast-no-newline"
	var got []string
	readLines(strings.NewReader(in), func(line string, at time.Time) {
		if at.IsZero() {
			t.Error("zero timestamp")
		}
		got = append(got, line)
	})
	want := []string{"CLIENT MESSAGE a", "", "second", "", "last-no-newline"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestClientDatagramIsTheCourseMessageEncoding(t *testing.T) {
	// The gregunz client's datagram for -msg=hello, captured in 2018.
	if got := fmt.Sprintf("%x", clientDatagram("hello")); got != "0a0568656c6c6f" {
		t.Fatalf("encoded %s", got)
	}
	if got := clientDatagram(strings.Repeat("x", 200)); got[1] != 0xc8 || got[2] != 0x01 {
		t.Fatalf("length of 200 not a two-byte varint: %x", got[:3])
	}
}
