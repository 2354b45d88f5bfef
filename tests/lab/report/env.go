package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
)

// Machine is the CPU model and core count, for every chart's subtitle.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores", model, runtime.NumCPU())
}

// Environment is what the report records about how it was made: Go, the
// module versions this binary was built with, the commit, the machine and
// the binaries the process engine ran.
func Environment(binaries ...string) []KV {
	env := []KV{
		{"Go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
		{"machine", Machine()},
		{"GOMAXPROCS", fmt.Sprint(runtime.GOMAXPROCS(0))},
	}
	if b, err := os.ReadFile("/proc/version"); err == nil {
		env = append(env, KV{"kernel", strings.TrimSpace(string(b))})
	}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		commit := strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			commit += " (with uncommitted changes)"
		}
		env = append(env, KV{"git commit", commit})
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		env = append(env, KV{"main module", info.Main.Path + " " + info.Main.Version})
		for _, s := range info.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				env = append(env, KV{"build " + s.Key, s.Value})
			}
		}
		var deps []string
		for _, d := range info.Deps {
			deps = append(deps, d.Path+" "+d.Version)
		}
		env = append(env, KV{"modules", strings.Join(deps, ", ")})
	}
	for _, b := range binaries {
		if b == "" {
			continue
		}
		env = append(env, KV{"binary " + b, fileSum(b)})
	}
	return env
}

func fileSum(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err.Error()
	}
	return "sha256 " + hex.EncodeToString(h.Sum(nil))
}
