package exp

// Run runs one setting once. Seeds make memory runs reproducible; process
// runs depend on the machine's scheduling as well.
func Run(p Params, run int, seed uint64, proc ProcessConfig) Result {
	if err := p.Check(); err != nil {
		return Result{Params: p, Run: run, Seed: seed, Pairs: p.N * p.Msgs, Err: err.Error()}
	}
	if p.Engine == Process {
		return runProcess(p, run, seed, proc)
	}
	return runMemory(p, run, seed)
}
