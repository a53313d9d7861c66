// The Replicate emulator: an offline, Replicate-compatible endpoint (see README.md).
PinGlass.ReplicateEmulator.EmulatorApp.Build(args).Run();
