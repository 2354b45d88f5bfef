package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

type lineKind int

const (
	lineOther lineKind = iota
	lineClient
	lineRumor
)

// protoLine is one stdout line of a gossiper, as far as the harness cares.
type protoLine struct {
	Kind   lineKind
	Origin string
	From   string
	ID     uint64
	Text   string
}

// parseLine recognises the two lines that prove a node has a message:
//
//	CLIENT MESSAGE <text>
//	RUMOR origin <name> from <ip:port> ID <n> contents <text>
//
// The text is everything after the fixed prefix, so it may hold spaces and any
// punctuation. Names and addresses never hold spaces, which is what makes the
// first " from " / " ID " / " contents " the real separators even when the text
// repeats those words.
func parseLine(s string) protoLine {
	s = strings.TrimSuffix(s, "\r")
	if s == "CLIENT MESSAGE" {
		return protoLine{Kind: lineClient}
	}
	if text, ok := strings.CutPrefix(s, "CLIENT MESSAGE "); ok {
		return protoLine{Kind: lineClient, Text: text}
	}
	rest, ok := strings.CutPrefix(s, "RUMOR origin ")
	if !ok {
		return protoLine{}
	}
	origin, rest, ok := strings.Cut(rest, " from ")
	if !ok || origin == "" || strings.ContainsAny(origin, " \t") {
		return protoLine{}
	}
	from, rest, ok := strings.Cut(rest, " ID ")
	if !ok || from == "" || strings.ContainsAny(from, " \t") {
		return protoLine{}
	}
	idStr, text, ok := strings.Cut(rest, " contents ")
	if !ok {
		if idStr, ok = strings.CutSuffix(rest, " contents"); !ok {
			return protoLine{}
		}
		text = ""
	}
	id, err := strconv.ParseUint(idStr, 10, 32)
	if err != nil {
		return protoLine{}
	}
	return protoLine{Kind: lineRumor, Origin: origin, From: from, ID: id, Text: text}
}

func clientKey(text string) string        { return "C\x00" + text }
func rumorKey(origin, text string) string { return "R\x00" + origin + "\x00" + text }

// key identifies what the line proves a node has, so the origin (CLIENT) and
// every other node (RUMOR) can be checked against the same wanted set.
func (p protoLine) key() string {
	switch p.Kind {
	case lineClient:
		return clientKey(p.Text)
	case lineRumor:
		return rumorKey(p.Origin, p.Text)
	}
	return ""
}

// maxLineBytes bounds memory for a runaway line; longer lines are still
// counted but not matched, and the pipe keeps draining so the node never
// blocks on a full stdout.
const maxLineBytes = 1 << 20

// readLines calls fn for every line of r with the time the line's end was
// read. The timestamp is taken here, not later, because it is the measurement.
func readLines(r io.Reader, fn func(line string, at time.Time)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	tooLong := false
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return
		}
		if !tooLong {
			if len(buf)+len(chunk) > maxLineBytes {
				tooLong = true
				buf = buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if isPrefix {
			continue
		}
		now := time.Now()
		if tooLong {
			fn("", now)
		} else {
			fn(string(buf), now)
		}
		buf = buf[:0]
		tooLong = false
	}
}
