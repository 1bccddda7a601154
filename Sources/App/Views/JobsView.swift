import Foundation
import SAECore
import TUI
import Widgets

/// Background jobs: running ones with their progress, finished ones with how they ended.
extension AppController {
    func drawJobs(into buffer: inout Buffer, rect: Rect) {
        let jobs = model.jobs
        let inner = Panel(title: "Jobs", info: "x cancels the selected job", focused: true).draw(into: &buffer, rect: rect)
        var table = Table(columns: [
            .init("#", width: .fixed(4), alignment: .right),
            .init("job", width: .flex(weight: 3, min: 12)),
            .init("state", width: .fixed(10)),
            .init("progress", width: .flex(weight: 2, min: 12)),
            .init("time", width: .fixed(8), alignment: .right),
        ], rowCount: jobs.count) { row, column in
            let job = jobs[row]
            switch column {
            case 0: return String(job.id)
            case 1: return job.title
            case 2:
                switch job.state {
                case .running: return "running"
                case .finished: return "done"
                case .failed: return "failed"
                case .cancelled: return "cancelled"
                }
            case 3:
                if case .failed(let text) = job.state { return text }
                return job.detail
            default:
                let seconds = (job.ended ?? Date()).timeIntervalSince(job.started)
                return String(format: "%.1f s", seconds)
            }
        }
        table.cellStyle = { row, column in
            guard column == 2 else { return nil }
            switch jobs[row].state {
            case .running: return .fg(.accent)
            case .failed: return .fg(.error)
            case .cancelled: return .fg(.warning)
            case .finished: return .fg(.positive)
            }
        }
        table.emptyText = "no jobs yet: indexing, re-indexing and exports run here"
        table.focused = true
        let running = jobs.filter { $0.state == .running }
        let barsHeight = min(running.count, max(0, inner.height - 4))
        let (tableRect, barsRect) = inner.splitBottom(barsHeight)
        var state = model.jobsTable
        table.draw(into: &buffer, rect: tableRect, state: &state)
        model.jobsTable = state
        layout.listRows = table.visibleRows(in: tableRect)
        for (i, job) in running.prefix(barsHeight).enumerated() {
            ProgressBar(fraction: job.fraction, label: "#\(job.id) \(job.kind)", detail: job.detail)
                .draw(into: &buffer, rect: barsRect.row(i))
        }
    }
}
