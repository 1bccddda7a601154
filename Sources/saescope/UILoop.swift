import App
import Foundation
import SAECore
import Terminal
import TUI

/// The one UI thread: wait for keys or a job's wake-up, update the model, draw if anything
/// changed. Jobs never touch the screen; they post to the mailbox and wake this loop.
struct UILoop {
    let screen: TerminalScreen
    let controller: AppController

    func run() {
        var dirty = true
        var lastJobRefresh = Date.distantPast
        while !controller.model.quit && !screen.interruptRequested {
            if dirty {
                var buffer = screen.makeBuffer()
                controller.render(into: &buffer)
                screen.present(buffer, theme: controller.theme)
                dirty = false
            }
            // While jobs run, wake a few times a second anyway so elapsed times tick.
            let timeout = controller.jobs.hasRunningJobs ? 250 : 5000
            let keys = screen.nextEvents(timeoutMilliseconds: timeout)
            for key in keys {
                controller.handle(key)
                dirty = true
            }
            if controller.jobs.hasRunningJobs || Date().timeIntervalSince(lastJobRefresh) > 1 || !keys.isEmpty {
                controller.handleJobEvents()
                lastJobRefresh = Date()
                dirty = true
            }
        }
    }
}
