package storm

func writeStormMD(path string) error { return nil }
