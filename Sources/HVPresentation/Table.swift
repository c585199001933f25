/// Renders rows as aligned columns for people.
public struct Table {
    public var headers: [String]
    public var rows: [[String]] = []

    public init(_ headers: String...) {
        self.headers = headers
    }

    public mutating func add(_ cells: String...) {
        rows.append(cells)
    }

    public func render() -> String {
        let widths = headers.indices.map { column in
            ([headers] + rows).map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return ([headers] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension String {
    func padding(toLength length: Int, withPad pad: Character, startingAt _: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }
}
