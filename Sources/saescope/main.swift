import ArgumentParser
import SAECore

struct Saescope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saescope",
        abstract: "Browse and evaluate sparse autoencoders and probes in the terminal.")
}

Saescope.main()
