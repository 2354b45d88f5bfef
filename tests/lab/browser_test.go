package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // FullScreenshot below quality 100 is a JPEG
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findChromium is the browser to drive, found as tests/gui_test.go finds
// it: $PEERSTER_CHROMIUM, else the first of the usual names on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("PEERSTER_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium, chromium-browser or google-chrome on PATH (install the Debian package chromium, or set PEERSTER_CHROMIUM)")
}

// chartBox is what the browser laid out for one chart.
type chartBox struct {
	Width, Height float64
	Paths, Texts  int
}

// TestReportRendersInChromium opens a tiny report in headless Chromium and
// checks that every chart is laid out with a size, lines and labels, and
// that the page as drawn is not blank.
func TestReportRendersInChromium(t *testing.T) {
	exe, err := findChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the browser test cannot run: %v", err)
		}
		t.Skipf("skipping the browser test: %v", err)
	}
	out := tinyReport(t)
	profile, err := os.MkdirTemp("", "peerster-lab-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// The browser's helpers may still write into the profile for a moment
	// after it quits; its removal is best effort.
	t.Cleanup(func() { os.RemoveAll(profile) })
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile),
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var boxes []chartBox
	var shot []byte
	url := "file://" + filepath.Join(out, "report.html")
	if err := chromedp.Run(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible("figure svg", chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("figure svg")).map(s => {
			const r = s.getBoundingClientRect();
			return {Width: r.width, Height: r.height, Paths: s.querySelectorAll("path").length, Texts: s.querySelectorAll("text").length};
		})`, &boxes),
		chromedp.FullScreenshot(&shot, 80),
	); err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 7 {
		t.Fatalf("%d charts laid out, want 7", len(boxes))
	}
	for i, b := range boxes {
		// Axes, grid and at least one curve are paths; title, axis
		// labels, ticks and legend are text.
		if b.Width < 300 || b.Height < 150 || b.Paths < 5 || b.Texts < 8 {
			t.Errorf("chart %d: %+v", i+1, b)
		}
	}
	img, _, err := image.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if frac := inkShare(img); frac < 0.01 {
		t.Errorf("the page is blank: %.4f of pixels drawn", frac)
	}
}

// inkShare is the fraction of pixels that are not near white.
func inkShare(img image.Image) float64 {
	b := img.Bounds()
	ink, all := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			all++
			if r < 0xe000 || g < 0xe000 || bl < 0xe000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(all)
}
