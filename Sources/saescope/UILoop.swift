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
            // One read at a time: a paste's line breaks stay in the text screen's field.
            controller.handle(keys)
            if !keys.isEmpty { dirty = true }
            // Every wake-up may be a job's report (the wake pipe): hand results over at once, or a
            // job that ends between two checks would wait for the idle timeout to be seen.
            controller.handleJobEvents()
            dirty = true
        }
    }
}
